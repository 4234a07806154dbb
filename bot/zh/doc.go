// Package zh reads the Chinese that people type in group chats: one normaliser (full-width
// forms, spaces, zero-width characters, trailing punctuation), numerals (十二, 两, 二十一),
// item numbers (#12, 12号, 第12单, 十二), star ratings, head counts and deadlines (截止 周五18点,
// 明天, 11月30日). Everything here is pure: no I/O, and the time comes in as an argument.
// The items handlers, notices and the scheduler all read text through it.
package zh
