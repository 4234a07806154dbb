//go:build tools

// Package pin keeps every third-party module the project builds on in go.mod at its exact,
// reviewed version, even before (or while) the package that uses it compiles. The "tools"
// build tag keeps it out of every binary.
package pin

import (
	_ "github.com/6tail/lunar-go/HolidayUtil"
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/chromedp/chromedp"
	_ "github.com/larksuite/oapi-sdk-go/v3/core"
	_ "github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	_ "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/robfig/cron/v3"
	_ "github.com/silenceper/wechat/v2/work/robot"
	_ "go.etcd.io/bbolt"
	_ "gopkg.in/yaml.v3"
)
