package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written in YAML as a Go duration string: "24h", "90m".
type Duration time.Duration

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String writes d the way an operator would: "24h", "1h30m", not "24h0m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") { // "24h0m0s", "1h30m0s", "30m0s"
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") { // "24h0m"
		s = s[:len(s)-2]
	}
	return s
}

// UnmarshalYAML reads a duration string. A bare number is refused: "24" could mean hours
// or seconds, and guessing wrong silences reminders.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a duration like \"24h\"", n.Line)}}
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

// ParseDuration reads a Go duration ("24h", "90m") or a whole number of days ("180d"), the
// way retention periods are usually stated.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*366 {
			return 0, fmt.Errorf("%q is not a number of days (want e.g. \"180d\")", s)
		}
		return Duration(time.Duration(n) * 24 * time.Hour), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want e.g. \"24h\", \"90m\", \"180d\")", s)
	}
	return Duration(v), nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
