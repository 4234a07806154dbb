package feishu

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
)

// Signature is Feishu's event signature: hex(sha256(timestamp + nonce + encryptKey + body)).
func Signature(timestamp, nonce, encryptKey string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write([]byte(nonce))
	h.Write([]byte(encryptKey))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// validSignature compares in constant time, so the answer's timing tells a forger nothing.
func validSignature(timestamp, nonce, encryptKey string, body []byte, got string) bool {
	want := Signature(timestamp, nonce, encryptKey, body)
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

var errDecrypt = errors.New("undecryptable event")

// decrypt opens an "encrypt" field: base64 of IV (16 bytes) | AES-256-CBC ciphertext with
// PKCS#7 padding, the key being sha256(encryptKey) (block is made from it once).
func decrypt(block cipher.Block, encrypted string) ([]byte, error) {
	buf, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil {
		return nil, errDecrypt
	}
	if len(buf) < 2*aes.BlockSize || len(buf)%aes.BlockSize != 0 {
		return nil, errDecrypt
	}
	iv, data := buf[:aes.BlockSize], buf[aes.BlockSize:]
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(data, data)
	n := int(data[len(data)-1])
	if n == 0 || n > aes.BlockSize || n > len(data) {
		return nil, errDecrypt
	}
	if subtle.ConstantTimeCompare(data[len(data)-n:], bytes.Repeat([]byte{byte(n)}, n)) != 1 {
		return nil, errDecrypt
	}
	return data[:len(data)-n], nil
}
