package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/community"
)

// The cases a new user reproduced through the playground: a member of 2网格 on 1网格's need,
// a resident of 2网格 looking at it, refusals that named the requester.
func TestAuthorityInChat(t *testing.T) {
	h := newBot(t)
	h.Say(g1, chen, needText)
	h.Say(g1, wang, "派单 1 截止 明天")

	// 赵志强 (2网格) can neither claim by text nor by the card's button, in either group.
	for _, sent := range [][]bottest.Sent{
		h.Say(g2, zhao, "接单 1"),
		h.Say(g1, zhao, "接单 1"),
		h.Tap(g1, zhao, "item:1", "claim", ""),
	} {
		all := texts(sent)
		if !strings.Contains(all, "不在您所在网格的服务范围内") {
			t.Errorf("2网格's member not refused:\n%s", all)
		}
		if strings.Contains(all, "认领了") || strings.Contains(all, fullPhone) || strings.Contains(all, "陈阿姨") {
			t.Errorf("refused claim announced or leaked:\n%s", all)
		}
		if len(sent) != 1 {
			t.Errorf("a refused claim sent %d messages:\n%s", len(sent), all)
		}
	}
	if it := h.Item(1); len(it.Claims) != 0 {
		t.Fatalf("claims after refusals: %+v", it.Claims)
	}
	mustContain(t, h.Say(g2, zhao, "完成 1"), "只有认领人")

	// 刘大爷 (resident, 2网格) cannot look at 1网格's need privately or from his own group; the
	// refusal is the one for a number that does not exist, and names nobody.
	for _, sent := range [][]bottest.Sent{h.Private(liu, "查看 1"), h.Say(g2, liu, "查看 1")} {
		all := texts(sent)
		if !strings.Contains(all, "没有找到 #1") || strings.Contains(all, "陈阿姨") || strings.Contains(all, "楼道灯") {
			t.Errorf("another grid's resident sees #1:\n%s", all)
		}
	}
	// He is not its requester: the refusal names nobody.
	if all := texts(h.Say(g1, liu, "确认 1 1星")); strings.Contains(all, "陈阿姨") {
		t.Errorf("refusal names the requester:\n%s", all)
	}

	// 李建国 (1网格) claims: he alone gets the full contact, privately; the groups see none of it.
	sent := h.Say(g1, li, "接单 1")
	if p := privately(sent, li); !strings.Contains(p, fullPhone) {
		t.Errorf("claimer has no contact:\n%s", texts(sent))
	}
	if g := inGroups(sent); strings.Contains(g, fullPhone) {
		t.Errorf("group sees the phone:\n%s", g)
	}
	for _, s := range sent {
		if s.UserID != "" && s.UserID != li && strings.Contains(s.Text, fullPhone) {
			t.Errorf("%s got the phone: %q", s.UserID, s.Text)
		}
	}

	// The secretary of the area sees the contact privately with 查看, never in the group.
	if p := texts(h.Private(wang, "查看 1")); !strings.Contains(p, fullPhone) || !strings.Contains(p, "电话") {
		t.Errorf("secretary privately:\n%s", p)
	}
	if g := texts(h.Say(g1, wang, "查看 1")); strings.Contains(g, "电话：") {
		t.Errorf("contact lines in the group:\n%s", g)
	}
	// A fellow member of 1网格 sees the item, not the contact, even privately.
	if p := texts(h.Private(zhang, "查看 1")); !strings.Contains(p, "#1") || strings.Contains(p, "电话：") {
		t.Errorf("another member privately:\n%s", p)
	}
}

// A grid worker may not dispatch; a member of another grid may not complete; the street may
// supervise anywhere.
func TestAuthorityRolesInChat(t *testing.T) {
	h := newBot(t)
	h.Say(g2, liu, "@邻里帮 2栋门口路灯不亮")
	mustContain(t, h.Say(g2, sun, "派单 1"), "只有书记可以派单")
	if it := h.Item(1); it.State != community.StateNeed {
		t.Fatalf("grid worker dispatched: %s", it.State)
	}
	h.Say(g2, wang, "派单 1 截止 明天")
	h.Say(g2, zhao, "接单 1")
	mustContain(t, h.Say(g2, li, "完成 1"), "只有认领人")
	mustContain(t, h.Private("local:zhou", "督办 1 请抓紧"), "已督办")
}

// Pictures a resident sent for a need before anyone claimed it (the Service Account keeps
// them) reach the claimer with the contact card, privately.
func TestClaimerSeesTheNeedsPictures(t *testing.T) {
	h := newBot(t)
	h.Say(g1, chen, needText)
	if err := h.Store.PutDoc(context.Background(), bot.CollItemImages, "1", []byte(`[{"pic_url":"http://mmbiz/p.jpg","media_id":"m1"}]`)); err != nil {
		t.Fatal(err)
	}
	h.Say(g1, wang, "派单 1")
	sent := h.Say(g1, li, "接单 1")
	if p := privately(sent, li); !strings.Contains(p, "图片：http://mmbiz/p.jpg") {
		t.Errorf("the claimer's card has no picture:\n%s", texts(sent))
	}
	if g := inGroups(sent); strings.Contains(g, "mmbiz") {
		t.Errorf("the group sees the picture's address:\n%s", g)
	}
}
