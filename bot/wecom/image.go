package wecom

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
)

// maxRobotImage is the group robot's limit on an image (before base64).
const maxRobotImage = 2 << 20

// robotImage is a webhook/send image body: the picture as base64 with the md5 of its bytes.
type robotImage struct {
	MsgType string `json:"msgtype"`
	Image   struct {
		Base64 string `json:"base64"`
		MD5    string `json:"md5"`
	} `json:"image"`
}

func newRobotImage(png []byte) robotImage {
	var b robotImage
	b.MsgType = "image"
	sum := md5.Sum(png)
	b.Image.Base64, b.Image.MD5 = base64.StdEncoding.EncodeToString(png), hex.EncodeToString(sum[:])
	return b
}

// sendRobotImage posts png through the robot at webhook url u, after its message. (App
// messages would need media/upload for a media_id first; they carry the picture's link in
// the card instead.)
func (p *Platform) sendRobotImage(ctx context.Context, u string, png []byte) error {
	if len(png) > maxRobotImage {
		return fmt.Errorf("wecom: image of %d bytes exceeds the robot's 2 MB", len(png))
	}
	var ans plainAnswer
	if err := p.api.do(ctx, http.MethodPost, u, newRobotImage(png), &ans); err != nil {
		return err
	}
	return classify(pathWebhook+" image", ans.CommonError)
}
