package console

import "net/http"

// notifyRoutes serves 通知.
func (c *Console) notifyRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/notices", c.handle(func(w http.ResponseWriter, r *http.Request, v *Viewer) error {
		c.render(w, r, v, http.StatusOK, "notify", "通知", nil)
		return nil
	}))
}
