package feishu_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
)

// reshape edits a plaintext event as a generic JSON object.
func reshape(t *testing.T, plain []byte, edit func(ev map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(plain, &ev); err != nil {
		t.Fatal(err)
	}
	edit(ev)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The event is read as a message only when the header says it is one: an event of another
// type goes to the dispatcher, whatever its shape.
func TestOnlyMessageEventsReadAsMessages(t *testing.T) {
	f := newFixture(t)
	msg, _ := f.ev.Message(feishutest.Msg{ChatID: groupChat, Sender: "ou_res", Text: "@_user_1 hi", Mentions: []feishutest.Mention{mentionBot("@_user_1")}})
	cases := map[string][]byte{
		// A message's event under another type: ignored (no handler), never a message.
		"message shape, reaction type": reshape(t, msg, func(ev map[string]any) {
			ev["header"].(map[string]any)["event_type"] = "im.message.reaction.created_v1"
		}),
		// A shape the message struct cannot take (a type error): still dispatched by type.
		"odd shape, unknown type": []byte(`{"schema":"2.0","event":{"message":"str","sender":7},` +
			`"header":{"event_id":"ev_odd","event_type":"x.custom_v1","token":"` + testToken + `"}}`),
	}
	for name, plain := range cases {
		t.Run(name, func(t *testing.T) {
			if w := f.deliver(plain); w.Code != 200 || !contains(w.Body.String(), "ignored") {
				t.Errorf("answer %d %s, want 200 ignored", w.Code, w.Body)
			}
		})
	}
	if got := f.in.got(); len(got) != 0 {
		t.Errorf("other event types reached the pipeline as messages: %+v", got)
	}
	if !contains(f.log.String(), "type=im.message.reaction.created_v1") || !contains(f.log.String(), "type=x.custom_v1") {
		t.Errorf("ignored events not logged with their types:\n%s", f.log)
	}

	// Still dispatched: a card tap (its event has a token and an action) and a bot added.
	tap := f.ev.CardAction(feishutest.Tap{Operator: "ou_mem", ChatID: groupChat, MessageID: "om_card_1", Value: map[string]any{"action": "claim", "item": 3}})
	if w := f.deliver(tap); w.Code != 200 || !contains(w.Body.String(), "toast") {
		t.Errorf("card tap: %d %s", w.Code, w.Body)
	}
	if got := f.in.got(); len(got) != 1 || got[0].Action == nil || got[0].Action.Name != "claim" || got[0].Action.Item != 3 {
		t.Errorf("card tap received as %+v", got)
	}
}

// A message whose body has a shape other than Feishu's is refused as before, or, if it has
// no event to read, answered and kept out of the pipeline.
func TestOddMessageBodies(t *testing.T) {
	f := newFixture(t)
	msg, _ := f.ev.Message(feishutest.Msg{ChatID: "oc_p2p", ChatType: "p2p", Sender: "ou_res", Text: "我的"})
	cases := []struct {
		name   string
		plain  []byte
		status int
		reason string
	}{
		{"message not an object", reshape(t, msg, func(ev map[string]any) { ev["event"] = map[string]any{"message": "x"} }), 400, "message event is not JSON"},
		{"event an array", reshape(t, msg, func(ev map[string]any) { ev["event"] = []int{1} }), 400, "message event is not JSON"},
		{"mentions not a list", reshape(t, msg, func(ev map[string]any) {
			ev["event"].(map[string]any)["message"].(map[string]any)["mentions"] = "@_user_1"
		}), 400, "message event is not JSON"},
		{"token not a string", reshape(t, msg, func(ev map[string]any) { ev["token"] = 5 }), 400, "decrypted event is not JSON"},
		{"header not an object", []byte(`{"schema":"2.0","header":"im.message.receive_v1","event":{}}`), 400, "decrypted event is not JSON"},
		// The token is checked before the event is read.
		{"odd event, wrong token", reshape(t, msg, func(ev map[string]any) {
			ev["event"] = map[string]any{"message": "x"}
			ev["header"].(map[string]any)["token"] = "nope"
		}), 401, "wrong verification token"},
		{"no event", reshape(t, msg, func(ev map[string]any) { delete(ev, "event") }), 200, ""},
		{"null event", reshape(t, msg, func(ev map[string]any) { ev["event"] = nil }), 200, ""},
		{"empty event", reshape(t, msg, func(ev map[string]any) { ev["event"] = map[string]any{} }), 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := f.deliver(c.plain)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, c.status, w.Body)
			}
			if c.status == 200 && w.Body.String() != `{"msg":"success"}` {
				t.Errorf("answer %s, want success", w.Body)
			}
			if c.reason != "" && !contains(f.log.String(), c.reason) {
				t.Errorf("log lacks the reason %q:\n%s", c.reason, f.log)
			}
		})
	}
	if got := f.in.got(); len(got) != 0 {
		t.Errorf("odd bodies reached the pipeline: %+v", got)
	}
	// The header may come after the event.
	moved := []byte(`{"event":` + string(field(t, msg, "event")) + `,"schema":"2.0","header":` + string(field(t, msg, "header")) + `}`)
	if w := f.deliver(moved); w.Code != 200 || len(f.in.got()) != 1 || f.in.got()[0].Text != "我的" {
		t.Errorf("header after the event: %d %s, received %+v", w.Code, w.Body, f.in.got())
	}
}

func field(t *testing.T, plain []byte, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(plain, &m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

// The envelope is JSON: an encrypt value with escaped slashes, whitespace around it or more
// fields still decrypts.
func TestEnvelopeVariants(t *testing.T) {
	f := newFixture(t)
	var seal string
	var plain []byte
	for !strings.Contains(seal, "/") { // the IV is random: some ciphertext has a slash
		plain, _ = f.ev.Message(feishutest.Msg{ChatID: "oc_p2p", ChatType: "p2p", Sender: "ou_res", Text: "路灯"})
		var env struct{ Encrypt string }
		json.Unmarshal(f.ev.Seal(plain), &env)
		seal = env.Encrypt
	}
	bodies := map[string]string{
		"escaped slash":        `{"encrypt":"` + strings.ReplaceAll(seal, "/", `\/`) + `"}`,
		"whitespace":           "\n {\"encrypt\" : \"" + seal + "\" }\r\n",
		"another field":        `{"encrypt":"` + seal + `","v":1}`,
		"unicode escape":       fmt.Sprintf(`{"encrypt":"\u%04x%s"}`, seal[0], seal[1:]),
		"plain, as Feishu has": `{"encrypt":"` + seal + `"}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			before := len(f.in.got())
			w := f.post(f.ev.SignedRequest(eventsURL, []byte(body), testNow))
			got := f.in.got()[before:]
			if w.Code != 200 || len(got) != 1 || got[0].Text != "路灯" {
				t.Errorf("%s: %d %s, received %+v", body[:min(len(body), 40)], w.Code, w.Body, got)
			}
		})
	}
	// A raw newline inside the string is not JSON (the base64 decoder would skip it).
	broken := `{"encrypt":"` + seal[:8] + "\n" + seal[8:] + `"}`
	if w := f.post(f.ev.SignedRequest(eventsURL, []byte(broken), testNow)); w.Code != 400 {
		t.Errorf("newline in the string: %d, want 400", w.Code)
	}
}
