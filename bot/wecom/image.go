package wecom

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/message"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
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
// messages upload it first for a media_id: sendAppImage.)
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

// pathUpload is media/upload: a temporary media file (valid 3 days) for a media_id.
const pathUpload = "/cgi-bin/media/upload"

// CollMedia keeps, per outbox entry (id: the entry's id), the image of its app message: the
// media_id uploaded and whether the image message went out, so a retried entry neither
// uploads nor sends the picture twice.
const CollMedia = "wecom_media"

// mediaTTL is how long a media_id is reused: WeCom keeps temporary media 3 days; a retry
// after that uploads afresh.
const mediaTTL = 3*24*time.Hour - time.Hour

// maxAppImage is media/upload's limit on an image.
const maxAppImage = 10 << 20

// mediaDoc is a CollMedia document.
type mediaDoc struct {
	MediaID  string    `json:"media_id"`
	Uploaded time.Time `json:"uploaded"`
	Sent     bool      `json:"sent,omitempty"`
}

type uploadAnswer struct {
	util.CommonError
	Type    string `json:"type"`
	MediaID string `json:"media_id"`
}

func (a *uploadAnswer) common() util.CommonError { return a.CommonError }

// appImageRequest is a message/send body of an image message.
type appImageRequest struct {
	*message.SendRequestCommon
	Image struct {
		MediaID string `json:"media_id"`
	} `json:"image"`
}

func (p *Platform) now() time.Time {
	if p.o.Now != nil {
		return p.o.Now()
	}
	return time.Now()
}

// sendAppImage sends o's picture to users as an image message, after the message itself: it
// uploads the PNG for a media_id (once per outbox entry, kept in CollMedia), then sends it
// with WeCom's duplicate check on. A retried entry reuses the media_id, and skips the picture
// once it went out.
func (p *Platform) sendAppImage(ctx context.Context, users []string, o bot.Outbound) error {
	png := o.Image.PNG
	if len(png) > maxAppImage {
		return bot.Permanent("image_size", fmt.Errorf("wecom: image of %d bytes exceeds media/upload's 10 MB", len(png)))
	}
	var d mediaDoc
	if o.ID != "" {
		raw, err := p.o.Docs.GetDoc(ctx, CollMedia, o.ID)
		switch {
		case err == nil:
			if json.Unmarshal(raw, &d) != nil {
				d = mediaDoc{}
			}
		case community.ErrorCode(err) != community.ENotFound:
			return bot.Temporary("store", 0, fmt.Errorf("wecom image of %s: %w", o.ID, err))
		}
	}
	if d.Sent {
		return nil
	}
	now := p.now()
	if d.MediaID == "" || now.Sub(d.Uploaded) >= mediaTTL {
		id, err := p.upload(ctx, png, "chart.png")
		if err != nil {
			return err
		}
		d = mediaDoc{MediaID: id, Uploaded: now}
		if err := p.putMedia(ctx, o.ID, d); err != nil {
			return err
		}
	}
	req := appImageRequest{SendRequestCommon: &message.SendRequestCommon{
		ToUser: strings.Join(users, "|"), AgentID: strconv.FormatInt(p.agentID, 10), MsgType: "image",
		// The same picture to the same people within the interval is dropped: a retry whose
		// first answer was lost is not shown twice.
		EnableDuplicateCheck: 1, DuplicateCheckInterval: duplicateCheckInterval,
	}}
	req.Image.MediaID = d.MediaID
	var ans sendAnswer
	if err := p.api.call(ctx, pathSend, req, &ans); err != nil {
		return err
	}
	d.Sent = true
	return p.putMedia(ctx, o.ID, d)
}

func (p *Platform) putMedia(ctx context.Context, id string, d mediaDoc) error {
	if id == "" {
		return nil
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return bot.Permanent("encode", err)
	}
	if err := p.o.Docs.PutDoc(ctx, CollMedia, id, raw); err != nil {
		return bot.Temporary("store", 0, fmt.Errorf("wecom media of %s: %w", id, err))
	}
	return nil
}

// upload posts data to media/upload as an image (multipart, field "media") and returns its
// media_id.
func (p *Platform) upload(ctx context.Context, data []byte, name string) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("media", name)
	if err != nil {
		return "", bot.Permanent("encode", err)
	}
	if _, err := fw.Write(data); err != nil {
		return "", bot.Permanent("encode", err)
	}
	if err := mw.Close(); err != nil {
		return "", bot.Permanent("encode", err)
	}
	var ans uploadAnswer
	err = p.api.withToken(ctx, pathUpload, "&type=image", func(u string) error {
		ans = uploadAnswer{}
		return p.api.send(ctx, http.MethodPost, u, mw.FormDataContentType(), bytes.NewReader(body.Bytes()), &ans)
	}, &ans)
	if err != nil {
		return "", err
	}
	if ans.MediaID == "" {
		return "", bot.Temporary("no_media_id", 0, fmt.Errorf("wecom media/upload: no media_id"))
	}
	return ans.MediaID, nil
}
