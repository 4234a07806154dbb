package feishu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"github.com/neighborbot/neighborbot/bot"
)

// uploadImage uploads a PNG for messages (im/v1/images, image_type "message") and returns
// its image_key.
func (p *Platform) uploadImage(ctx context.Context, png []byte) (string, error) {
	var key string
	err := p.call(ctx, "image", func(opt larkcore.RequestOptionFunc) (apiResult, error) {
		resp, err := p.im.Image.Create(ctx, larkim.NewCreateImageReqBuilder().
			Body(larkim.NewCreateImageReqBodyBuilder().ImageType("message").Image(bytes.NewReader(png)).Build()).Build(), opt)
		if err != nil {
			return apiResult{}, err
		}
		if resp.Data != nil && resp.Data.ImageKey != nil {
			key = *resp.Data.ImageKey
		}
		return apiResult{code: resp.Code, msg: resp.Msg, resp: resp.ApiResp}, nil
	})
	if err == nil && key == "" {
		err = bot.Temporary("no_image_key", 0, errors.New("feishu: image upload answered no image_key"))
	}
	return key, err
}

// imageContent is an image message's content.
func imageContent(key string) string {
	b, _ := json.Marshal(map[string]string{"image_key": key})
	return string(b)
}
