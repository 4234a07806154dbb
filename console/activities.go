package console

import "net/http"

// activitiesRoutes serves the 活动 page. (Placeholder: the page is being built.)
func (c *Console) activitiesRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/activities", c.handle(func(w http.ResponseWriter, r *http.Request, v *Viewer) error {
		c.render(w, r, v, http.StatusOK, "activities", "活动", nil)
		return nil
	}))
}
