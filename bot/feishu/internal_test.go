package feishu

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"

	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"

	"github.com/neighborbot/neighborbot/bot/feishu/feishutest"
)

func testBlock(t *testing.T, key string) cipher.Block {
	t.Helper()
	sum := sha256.Sum256([]byte(key))
	b, err := aes.NewCipher(sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecryptMatchesFeishu(t *testing.T) {
	const key = "ekey-456"
	for _, plain := range []string{`{}`, `{"a":"0123456789abcde"}`, `{"text":"楼道灯坏了，麻烦尽快处理"}`} {
		enc := feishutest.Encrypt(key, []byte(plain))
		got, err := decrypt(testBlock(t, key), enc)
		if err != nil || string(got) != plain {
			t.Errorf("decrypt(%q) = %q, %v", plain, got, err)
		}
		// The SDK's own decryption agrees: the helper speaks Feishu's wire format.
		sdk, err := larkevent.EventDecrypt(enc, key)
		if err != nil || string(sdk) != plain {
			t.Errorf("SDK decrypt(%q) = %q, %v", plain, sdk, err)
		}
	}
}

func TestDecryptRejects(t *testing.T) {
	b := testBlock(t, "k")
	good := feishutest.Encrypt("k", []byte(`{"x":1}`))
	raw, _ := base64.StdEncoding.DecodeString(good)
	cases := map[string]string{
		"not base64":      "%%%",
		"too short":       base64.StdEncoding.EncodeToString(raw[:16]),
		"not whole block": base64.StdEncoding.EncodeToString(raw[:len(raw)-3]),
		"wrong key":       feishutest.Encrypt("other", []byte(`{"x":1}`)),
		"empty":           "",
	}
	for name, enc := range cases {
		if got, err := decrypt(b, enc); err == nil && name != "wrong key" {
			t.Errorf("%s: decrypted to %q", name, got)
		} else if err == nil && string(got) == `{"x":1}` {
			t.Errorf("%s: decrypted with the wrong key", name)
		}
	}
}

func TestSignatureMatchesSDK(t *testing.T) {
	body := []byte(`{"encrypt":"abc"}`)
	want := larkevent.Signature("1700000000", "nonce", "key", string(body))
	if got := Signature("1700000000", "nonce", "key", body); got != want {
		t.Errorf("Signature = %s, SDK says %s", got, want)
	}
	if !validSignature("1700000000", "nonce", "key", body, want) || validSignature("1700000000", "nonce", "key", body, want[:63]+"0") {
		t.Error("validSignature disagrees")
	}
}

func TestReplaceMentionKeys(t *testing.T) {
	names := map[string]string{"@_user_1": "", "@_user_12": "@十二", "@_all": "@所有人"}
	repl := func(k string) string {
		if v, ok := names[k]; ok {
			return v
		}
		return k
	}
	cases := map[string]string{
		"@_user_1 hi":              " hi",
		"@_user_12 @_user_1":       "@十二 ",
		"a@_user_1b":               "ab",
		"@_user_ no digits":        "@_user_ no digits",
		"@_all 开会":                 "@所有人 开会",
		"@_user_3 unknown":         "@_user_3 unknown",
		"email a@_b.com":           "email a@_b.com",
		"tail @_":                  "tail @_",
		"@_user_1@_user_1@_user_1": "",
	}
	for in, want := range cases {
		if got := replaceMentionKeys(in, repl); got != want {
			t.Errorf("replaceMentionKeys(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUUIDStable(t *testing.T) {
	a, b := uuidFor("feishu:om_1/0"), uuidFor("feishu:om_1/1")
	if a == b || len(a) != 32 || uuidFor("feishu:om_1/0") != a {
		t.Errorf("uuids %q %q", a, b)
	}
}

// The envelope read directly is what encoding/json reads, and anything else goes to it.
func TestParseEncryptedMatchesJSON(t *testing.T) {
	for _, in := range []string{
		`{"encrypt":"FIAfJPGRmFZWkaxPQ1XrJZVbv2JwdjfLk4jx0k/U1deAqYK3AXOZ5zcHt/cC4ZNTqYwWUW/EoL+b2hW/C4zoAQQ5CeMtbxX2zHjm+E4nX/Aww+FHUL6iuIMaeL2KLxqdtbHRC50vgC2YI7xohnb3KuCNBMUzLiPLNP3+uR2I/60="}`,
		" {\"encrypt\":\"abc=\"}\n",
		`{"encrypt":"a\/b"}`,               // an escaped slash: encoding/json's job
		`{"encrypt":"ab", "x":1}`,          // more fields
		`{"encrypt":"abc"`,                 // truncated
		`{"encrypt":""}`,                   // empty
		`{"encrypt":"abc\u0041"}`,          // an escape
		`{"challenge":"c","type":"url"}`,   // unencrypted
		`{"encrypt":"abc"}{"encrypt":"x"}`, // two values
	} {
		got, err := parseEncrypted([]byte(in))
		var want encrypted
		werr := json.Unmarshal([]byte(in), &want)
		if (err == nil) != (werr == nil) || got != want {
			t.Errorf("%s: parseEncrypted = %+v, %v; encoding/json = %+v, %v", in, got, err, want, werr)
		}
	}
}
