package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
)

// feishuSource builds Feishu im.message.receive_v1 events exactly as Feishu sends them.
type feishuSource struct {
	ev *feishutest.Events
}

func newFeishuSource() *feishuSource {
	return &feishuSource{ev: &feishutest.Events{AppID: "cli_bench", VerificationToken: "vt-bench-token", EncryptKey: "ek-bench-encrypt-key"}}
}

func (s *feishuSource) platform() string   { return "feishu" }
func (s *feishuSource) eventsPath() string { return "/feishu/events" }

func (s *feishuSource) env(fakeURL string) []string {
	return []string{
		"FEISHU_APP_ID=" + s.ev.AppID, "FEISHU_APP_SECRET=bench-secret",
		"FEISHU_VERIFICATION_TOKEN=" + s.ev.VerificationToken, "FEISHU_ENCRYPT_KEY=" + s.ev.EncryptKey,
		"FEISHU_BASE_URL=" + fakeURL,
	}
}

func (s *feishuSource) startFake(f Faults) (fake, error) {
	ff, err := startFakeFeishu(f)
	if err != nil {
		return nil, err
	}
	return feishuFake{ff}, nil
}

type feishuFake struct{ *fakeFeishu }

func (f feishuFake) URL() string   { return f.fakeFeishu.URL }
func (f feishuFake) log() *sendLog { return f.fakeFeishu.log }

func (s *feishuSource) build(run string, i int, probe bool) prepared {
	m := feishutest.Msg{
		EventID:   fmt.Sprintf("ev_%s_%d", run, i),
		MessageID: fmt.Sprintf("om_%s_%d", run, i),
		Sender:    fmt.Sprintf("ou_user_%05d", i%20000),
	}
	if probe {
		m.ChatID = fmt.Sprintf("oc_probe_%02d", (i/probeEvery)%probeChats)
		m.Text = "@_user_1 帮助"
		m.Mentions = []feishutest.Mention{{Key: "@_user_1", OpenID: "ou_bot", Name: "邻里帮", Bot: true}}
	} else {
		m.ChatID = fmt.Sprintf("oc_chat_%03d", i%200)
		m.Text = "好的，谢谢邻居"
		m.ParentID = fmt.Sprintf("om_prev_%s_%d", run, i)
	}
	plain, _ := s.ev.Message(m)
	body := s.ev.Seal(plain)
	h := http.Header{}
	feishutest.Sign(h, body, s.ev.EncryptKey, time.Now(), fmt.Sprintf("n-%s-%d", run, i))
	h.Set("Content-Type", "application/json; charset=utf-8")
	p := prepared{path: "/feishu/events", body: body, header: h, key: "feishu:" + m.MessageID}
	if probe {
		p.probe = "reply:" + m.MessageID
	}
	return p
}
