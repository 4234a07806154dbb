package console

import "net/http"

// peopleRoutes serves the 人员 page. (Placeholder: the page is being built.)
func (c *Console) peopleRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/people", c.handle(func(w http.ResponseWriter, r *http.Request, v *Viewer) error {
		c.render(w, r, v, http.StatusOK, "people", "人员", nil)
		return nil
	}))
}
