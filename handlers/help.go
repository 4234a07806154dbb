package handlers

import (
	"strings"

	"github.com/neighborbot/neighborbot/community"
)

// HelpText is 帮助 for role: a greeting and lines, which come from the verbs registered on the
// bot.Mux (bot.Mux.Help), so the list cannot drift from what the bot understands.
func HelpText(role community.Role, botName string, lines []string) string {
	if botName == "" {
		botName = "邻里帮"
	}
	head := "👋 我是" + botName + "，您的身份：" + role.Chinese() + "。可以这样用："
	n := len(head)
	for _, l := range lines {
		n += len("\n• ") + len(l)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(head)
	for _, l := range lines {
		b.WriteString("\n• ")
		b.WriteString(l)
	}
	return b.String()
}
