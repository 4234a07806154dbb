package config_test

import (
	"strings"
	"testing"

	"github.com/neighborbot/neighborbot/config"
)

func TestValidateLedger(t *testing.T) {
	big, ok := 5000, 3
	c := config.Demo()
	c.Ledger = config.Ledger{
		Points: config.PointsRule{Star: &big},
		Communities: map[string]config.PointsRule{
			"xingfu":  {OnTime: &ok},
			"grid1":   {},
			"nowhere": {},
		},
	}
	c.Members[1].Unit = strings.Repeat("单", 41)
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"ledger.points.star: 5000 is out of range",
		`ledger.communities.grid1: "grid1" is a grid, not a community`,
		`ledger.communities.nowhere: unknown org node "nowhere"`,
		"members[1].unit: too long (41 characters",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "ledger.communities.xingfu") {
		t.Errorf("a valid community rule was refused: %v", err)
	}
}
