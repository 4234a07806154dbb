package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/neighborbot/neighborbot/bot/wecom/wecomtest"
)

// wecomSource builds WeCom app callbacks exactly as WeCom sends them: XML encrypted with the
// EncodingAESKey and signed with the token. App callbacks are people writing to the app
// privately, so the bot answers every one; probes use a user of their own, so the fake can
// tell their answers apart.
type wecomSource struct {
	cb     *wecomtest.Callbacks
	corpID string
}

func newWeComSource() *wecomSource {
	corp := "wwbench0001"
	return &wecomSource{corpID: corp, cb: &wecomtest.Callbacks{
		Token: "bench-token", AESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", ReceiveID: corp, Now: time.Now,
	}}
}

func (s *wecomSource) platform() string   { return "wecom" }
func (s *wecomSource) eventsPath() string { return "/wecom/callback" }

func (s *wecomSource) env(fakeURL string) []string {
	return []string{
		"WECOM_CORP_ID=" + s.corpID, "WECOM_AGENT_ID=1000002", "WECOM_SECRET=bench-secret",
		"WECOM_TOKEN=" + s.cb.Token, "WECOM_AES_KEY=" + s.cb.AESKey, "WECOM_BASE_URL=" + fakeURL,
	}
}

func (s *wecomSource) build(run string, i int, probe bool) prepared {
	user, text := fmt.Sprintf("user%05d", i%20000), "好的，谢谢"
	if probe {
		user, text = fmt.Sprintf("probe_%s_%d", run, i), "帮助"
	}
	msgID := fmt.Sprintf("%s%08d", run, i)
	req := s.cb.App("/wecom/callback", wecomtest.Text(s.corpID, user, text, msgID, time.Now()))
	body, _ := io.ReadAll(req.Body)
	p := prepared{path: req.URL.String(), body: body, header: req.Header, key: "wecom:" + msgID}
	if probe {
		p.probe = "user:" + user
	}
	return p
}

func (s *wecomSource) startFake(f Faults) (fake, error) { return startFakeWeCom(f) }

// fakeWeCom is the WeCom API as the bot uses it: access tokens, app messages, card updates,
// group robots. WeCom's message/send has no idempotency key: a message whose answer is lost
// and which is sent again arrives twice, and the fake counts it so, unless the send asked for
// WeCom's duplicate check (enable_duplicate_check), which the fake honours.
type fakeWeCom struct {
	srv *http.Server
	url string
	sl  *sendLog
	inj *injector
}

func startFakeWeCom(f Faults) (*fakeWeCom, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fw := &fakeWeCom{url: "http://" + ln.Addr().String(), sl: newSendLog(), inj: newInjector(f)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/gettoken", func(w http.ResponseWriter, r *http.Request) {
		writeJSONResp(w, 200, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": "wt-bench", "expires_in": 7200})
	})
	mux.HandleFunc("POST /cgi-bin/message/send", func(w http.ResponseWriter, r *http.Request) { fw.send(w, r, "user:") })
	mux.HandleFunc("POST /cgi-bin/message/update_template_card", func(w http.ResponseWriter, r *http.Request) { fw.send(w, r, "update:") })
	mux.HandleFunc("POST /cgi-bin/webhook/send", func(w http.ResponseWriter, r *http.Request) { fw.send(w, r, "robot:") })
	fw.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go fw.srv.Serve(ln)
	return fw, nil
}

func (fw *fakeWeCom) URL() string   { return fw.url }
func (fw *fakeWeCom) log() *sendLog { return fw.sl }
func (fw *fakeWeCom) Close()        { fw.srv.Close() }

func (fw *fakeWeCom) send(w http.ResponseWriter, r *http.Request, kind string) {
	at := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var b struct {
		ToUser  string `json:"touser"`
		Dedupe  int    `json:"enable_duplicate_check"`
		MsgType string `json:"msgtype"`
	}
	json.Unmarshal(body, &b)
	key := kind + b.ToUser
	// message/send with enable_duplicate_check: WeCom drops a message identical (recipients,
	// type, content) to one sent within the interval; every run here is shorter than it.
	idem := ""
	if kind == "user:" && b.Dedupe == 1 {
		var m map[string]json.RawMessage
		json.Unmarshal(body, &m)
		idem = "dup:" + b.ToUser + "\x00" + b.MsgType + "\x00" + string(m[b.MsgType])
	}
	if kind == "robot:" {
		key = kind + r.URL.Query().Get("key")
	}
	if r.URL.Query().Get("access_token") != "wt-bench" && kind != "robot:" {
		writeJSONResp(w, 200, map[string]any{"errcode": 40014, "errmsg": "invalid access_token"})
		return
	}
	fw.sl.call(key, at)
	switch k := fw.inj.draw(); k {
	case "429":
		fw.sl.fault(k)
		writeJSONResp(w, 200, map[string]any{"errcode": 45009, "errmsg": "api freq out of limit"})
		return
	case "5xx":
		fw.sl.fault(k)
		writeJSONResp(w, 502, map[string]any{"errcode": -1, "errmsg": "system busy"})
		return
	case "slow":
		fw.sl.fault(k)
		time.Sleep(fw.inj.f.SlowFor)
	case "drop":
		fw.sl.fault(k)
		fw.sl.create(key, idem)
		dropConn(w)
		return
	}
	id := fw.sl.create(key, idem)
	writeJSONResp(w, 200, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": id, "invaliduser": ""})
}
