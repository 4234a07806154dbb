package wecom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Crypto is WeCom's callback encryption (the WXBizMsgCrypt scheme): a SHA-1 signature over the
// sorted token, timestamp, nonce and ciphertext, and AES-256-CBC with the key
// base64(EncodingAESKey+"="), IV = key[:16], PKCS#7 padding to 32 bytes, over
// 16 random bytes | 4-byte big-endian length | message | receive id.
//
// It is written here rather than taken from the SDK because util.DecryptMsg refuses the empty
// receive id the AI bot uses, and because every check must fail with an error, never a panic.
type Crypto struct {
	token     string
	key       []byte
	receiveID string
}

// Errors a callback can be refused with; each becomes a 4xx.
var (
	ErrSignature = errors.New("wecom: bad signature")
	ErrCipher    = errors.New("wecom: malformed ciphertext")
	ErrPadding   = errors.New("wecom: bad padding")
	ErrReceiver  = errors.New("wecom: message for another receiver")
)

const blockSize = 32 // WeCom pads to 32 bytes, not to AES's 16

// NewCrypto checks the EncodingAESKey (43 characters) and returns the scheme for one receive
// id: the CorpID for a self-built app, "" for an AI bot.
func NewCrypto(token, encodingAESKey, receiveID string) (*Crypto, error) {
	if token == "" {
		return nil, errors.New("wecom: empty token")
	}
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("wecom: EncodingAESKey has %d characters, want 43", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("wecom: EncodingAESKey is not 43 characters of base64")
	}
	return &Crypto{token: token, key: key, receiveID: receiveID}, nil
}

// Signature is msg_signature: sha1 of the four values sorted and concatenated.
func (c *Crypto) Signature(timestamp, nonce, encrypted string) string {
	parts := []string{c.token, timestamp, nonce, encrypted}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// Verify checks msg_signature in constant time.
func (c *Crypto) Verify(signature, timestamp, nonce, encrypted string) error {
	want := c.Signature(timestamp, nonce, encrypted)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(signature)), []byte(want)) != 1 {
		return ErrSignature
	}
	return nil
}

// Decrypt opens a ciphertext and checks its receive id. Callers verify the signature first.
func (c *Crypto) Decrypt(encrypted string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCipher, err)
	}
	if len(raw) == 0 || len(raw)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of blocks", ErrCipher, len(raw))
	}
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(raw))
	cipher.NewCBCDecrypter(block, c.key[:aes.BlockSize]).CryptBlocks(plain, raw)

	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > blockSize || pad > len(plain) {
		return nil, ErrPadding
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, ErrPadding
		}
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, fmt.Errorf("%w: too short", ErrCipher)
	}
	n := binary.BigEndian.Uint32(plain[16:20])
	rest := plain[20:]
	if uint64(n) > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: length %d exceeds the %d bytes left", ErrCipher, n, len(rest))
	}
	msg, receiver := rest[:n], rest[n:]
	if subtle.ConstantTimeCompare(receiver, []byte(c.receiveID)) != 1 {
		return nil, ErrReceiver
	}
	return msg, nil
}

// Encrypt seals msg for this receive id with fresh random bytes.
func (c *Crypto) Encrypt(msg []byte) (string, error) {
	var random [16]byte
	if _, err := io.ReadFull(rand.Reader, random[:]); err != nil {
		return "", err
	}
	return c.encrypt(random, msg)
}

func (c *Crypto) encrypt(random [16]byte, msg []byte) (string, error) {
	var buf bytes.Buffer
	buf.Write(random[:])
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(msg)))
	buf.Write(n[:])
	buf.Write(msg)
	buf.WriteString(c.receiveID)
	pad := blockSize - buf.Len()%blockSize
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return "", err
	}
	out := buf.Bytes()
	cipher.NewCBCEncrypter(block, c.key[:aes.BlockSize]).CryptBlocks(out, out)
	return base64.StdEncoding.EncodeToString(out), nil
}
