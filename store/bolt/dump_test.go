package bolt_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/storetest"
)

func TestDump(t *testing.T) {
	storetest.RunDump(t, func(t *testing.T, now func() time.Time) store.Store {
		return MustOpen(t, filepath.Join(t.TempDir(), "neighborbot.db"), now)
	})
}
