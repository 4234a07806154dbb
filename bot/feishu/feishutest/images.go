package feishutest

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
)

// uploadImage is POST /open-apis/im/v1/images: a multipart form with image_type "message" and
// the image file; it answers an image_key that image messages may then show.
func (s *Server) uploadImage(w http.ResponseWriter, r *http.Request) {
	c, _ := newCall(RouteImage, r)
	if s.fault(w, r, &c) || !s.authorized(w, &c) {
		return
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		s.refuse(w, &c, CodeBadRequest, "not a multipart form")
		return
	}
	mr := multipart.NewReader(bytes.NewReader(c.Body), params["boundary"])
	var typ string
	var img []byte
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(part)
		switch part.FormName() {
		case "image_type":
			typ = string(b)
		case "image":
			img = b
		}
	}
	if typ != "message" || len(img) == 0 {
		s.refuse(w, &c, CodeBadRequest, "image_type must be message and image must be set")
		return
	}
	s.mu.Lock()
	key := "img_v2_fake_" + strconv.Itoa(len(s.images)+1)
	s.images[key] = img
	s.mu.Unlock()
	c.Content = key
	s.ok(w, &c, map[string]any{"image_key": key})
}

// Image returns the bytes uploaded under key.
func (s *Server) Image(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.images[key]
	return b, ok
}
