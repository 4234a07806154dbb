package console

import "net/http"

// overviewRoutes serves 总览.
func (c *Console) overviewRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/{$}", c.handle(func(w http.ResponseWriter, r *http.Request, v *Viewer) error {
		c.render(w, r, v, http.StatusOK, "overview", "总览", nil)
		return nil
	}))
}
