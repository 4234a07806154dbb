package wecom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// The sample of WeCom's callback documentation (加解密方案说明, developer.work.weixin.qq.com
// document/path/90968) and of the official WXBizMsgCrypt libraries.
const (
	sampleToken  = "QDG6eK"
	sampleCorpID = "wx5823bf96d3bd56c7"
	sampleAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

	// URL verification (VerifyURL).
	sampleVerifySig   = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
	sampleVerifyTS    = "1409659589"
	sampleVerifyNonce = "263014780"
	sampleVerifyEcho  = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	sampleVerifyPlain = "1616140317555161061"

	// A received message (DecryptMsg).
	sampleMsgSig   = "477715d11cdb4164915debcba66cb864d751f3e6"
	sampleMsgTS    = "1409659813"
	sampleMsgNonce = "1372623149"
	sampleMsgEnc   = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

func sampleCrypto(t testing.TB) *Crypto {
	t.Helper()
	c, err := NewCrypto(sampleToken, sampleAESKey, sampleCorpID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCryptoKnownAnswerVerifyURL(t *testing.T) {
	c := sampleCrypto(t)
	if got := c.Signature(sampleVerifyTS, sampleVerifyNonce, sampleVerifyEcho); got != sampleVerifySig {
		t.Fatalf("signature = %s, want %s", got, sampleVerifySig)
	}
	plain, err := c.Decrypt(sampleVerifyEcho)
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != sampleVerifyPlain {
		t.Fatalf("echostr = %q, want %q", plain, sampleVerifyPlain)
	}
}

func TestCryptoKnownAnswerMessage(t *testing.T) {
	c := sampleCrypto(t)
	if err := c.Verify(sampleMsgSig, sampleMsgTS, sampleMsgNonce, sampleMsgEnc); err != nil {
		t.Fatal(err)
	}
	plain, err := c.Decrypt(sampleMsgEnc)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseAppXML(plain)
	if err != nil {
		t.Fatal(err)
	}
	if m.MsgType != "text" || m.Content != "hello" || m.MsgID != "4561255354251345929" ||
		m.FromUserName != "mycreate" || m.ToUserName != sampleCorpID || m.CreateTime != 1409659813 || m.AgentID != "218" {
		t.Fatalf("decrypted sample = %+v", m)
	}
}

func TestCryptoRoundTrip(t *testing.T) {
	for _, receiver := range []string{sampleCorpID, ""} { // app, AI bot
		c, err := NewCrypto(sampleToken, sampleAESKey, receiver)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range []string{"", "x", strings.Repeat("邻", 11), strings.Repeat("a", 12), strings.Repeat("b", 1000)} {
			enc, err := c.Encrypt([]byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Decrypt(enc)
			if err != nil {
				t.Fatalf("receiver %q, %d bytes: %v", receiver, len(msg), err)
			}
			if string(got) != msg {
				t.Fatalf("round trip = %q, want %q", got, msg)
			}
		}
	}
}

func TestCryptoRefuses(t *testing.T) {
	c := sampleCrypto(t)
	other, _ := NewCrypto(sampleToken, sampleAESKey, "wwsomeoneelse")
	forOther, _ := other.Encrypt([]byte("<xml/>"))
	aibot, _ := NewCrypto(sampleToken, sampleAESKey, "")
	forAIBot, _ := aibot.Encrypt([]byte("{}"))

	raw, _ := base64.StdEncoding.DecodeString(sampleMsgEnc)
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-1] ^= 0x01 // garbles the last block, padding included

	// A correctly encrypted plaintext whose padding bytes disagree with its last byte.
	badPad := append(make([]byte, 20), sampleCorpID...)
	n := 32 - len(badPad)%32
	badPad = append(badPad, bytes.Repeat([]byte{byte(n)}, n)...)
	badPad[len(badPad)-2] = 7

	cases := []struct {
		name string
		enc  string
		want error
	}{
		{"not base64", "%%%", ErrCipher},
		{"empty", "", ErrCipher},
		{"partial block", base64.StdEncoding.EncodeToString(raw[:17]), ErrCipher},
		{"tampered", base64.StdEncoding.EncodeToString(flipped), ErrPadding},
		{"inconsistent padding", cbcEncrypt(c.key, badPad), ErrPadding},
		{"other corp", forOther, ErrReceiver},
		{"AI bot ciphertext at the app", forAIBot, ErrReceiver},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Decrypt(tc.enc)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decrypt = %v, want %v", err, tc.want)
			}
		})
	}
	if err := c.Verify(strings.Repeat("0", 40), sampleMsgTS, sampleMsgNonce, sampleMsgEnc); !errors.Is(err, ErrSignature) {
		t.Fatalf("forged signature: %v", err)
	}
	if err := c.Verify(sampleMsgSig, sampleMsgTS, "1", sampleMsgEnc); !errors.Is(err, ErrSignature) {
		t.Fatalf("changed nonce: %v", err)
	}
}

func TestNewCryptoRefusesBadKeys(t *testing.T) {
	for _, key := range []string{"", "short", sampleAESKey + "A", strings.Repeat("!", 43)} {
		if _, err := NewCrypto(sampleToken, key, ""); err == nil {
			t.Errorf("NewCrypto(%q) accepted", key)
		}
	}
	if _, err := NewCrypto("", sampleAESKey, ""); err == nil {
		t.Error("empty token accepted")
	}
}

func FuzzDecrypt(f *testing.F) {
	c := sampleCrypto(f)
	f.Add(sampleMsgEnc)
	f.Add(sampleVerifyEcho)
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA==")
	f.Fuzz(func(t *testing.T, enc string) {
		plain, err := c.Decrypt(enc)
		if err != nil {
			return
		}
		_, _ = parseAppXML(plain) // must not panic either
	})
}

// FuzzDecryptPlaintext feeds arbitrary plaintexts through real encryption, so the fuzzer
// reaches the length and receiver checks that random ciphertexts almost never get past.
func FuzzDecryptPlaintext(f *testing.F) {
	c := sampleCrypto(f)
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"))
	f.Add([]byte("<xml><MsgType>text</MsgType></xml>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		pad := 32 - len(body)%32
		padded := append(bytes.Clone(body), bytes.Repeat([]byte{byte(pad)}, pad)...)
		plain, err := c.Decrypt(cbcEncrypt(c.key, padded))
		if err != nil {
			return
		}
		_, _ = parseAppXML(plain)
		_, _ = parseAIBot(plain)
	})
}

func cbcEncrypt(key, padded []byte) string {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	out := bytes.Clone(padded)
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(out, out)
	return base64.StdEncoding.EncodeToString(out)
}
