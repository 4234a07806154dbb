package console

import "net/http"

// reportsRoutes serves the 报表 page. (Placeholder: the page is being built.)
func (c *Console) reportsRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/reports", c.handle(func(w http.ResponseWriter, r *http.Request, v *Viewer) error {
		c.render(w, r, v, http.StatusOK, "reports", "报表", nil)
		return nil
	}))
}
