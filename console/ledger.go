package console

import "net/http"

// ledgerRoutes serves 台账.
func (c *Console) ledgerRoutes(mux *http.ServeMux) {
	mux.Handle("GET /console/items", c.handle(func(w http.ResponseWriter, r *http.Request, v *Viewer) error {
		c.render(w, r, v, http.StatusOK, "ledger", "台账", nil)
		return nil
	}))
}
