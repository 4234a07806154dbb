package handlers

import (
	"fmt"
	"strings"

	"github.com/neighborbot/neighborbot/community"
)

// HelpText is 帮助 for role: a greeting and lines, which come from the verbs registered on the
// bot.Mux (bot.Mux.Help), so the list cannot drift from what the bot understands.
func HelpText(role community.Role, botName string, lines []string) string {
	if botName == "" {
		botName = "邻里帮"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "👋 我是%s，您的身份：%s。可以这样用：", botName, role.Chinese())
	for _, l := range lines {
		b.WriteString("\n• " + l)
	}
	return b.String()
}
