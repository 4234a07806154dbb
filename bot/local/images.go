package local

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

// ImageCollection is the store.Docs collection holding the pictures bot messages showed
// (charts), one doc per message under its zero-padded id.
const ImageCollection = "local_images"

func imageURL(id int64) string { return "/local/images/" + strconv.FormatInt(id, 10) + ".png" }

func (p *Platform) persistImage(ctx context.Context, id int64, png []byte) error {
	if p.docs == nil {
		return nil
	}
	if err := p.docs.PutDoc(context.WithoutCancel(ctx), ImageCollection, docID(id), png); err != nil {
		return bot.Temporary("store", 0, err)
	}
	return nil
}

// serveImage serves GET /local/images/{id}.png: the picture of bot message id.
func (p *Platform) serveImage(w http.ResponseWriter, r *http.Request) {
	num, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	id, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || id <= 0 {
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	png := p.images[id]
	p.mu.Unlock()
	if png == nil && p.docs != nil {
		png, err = p.docs.GetDoc(r.Context(), ImageCollection, docID(id))
		if community.ErrorCode(err) == community.ENotFound {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	if png == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(png)
}
