module github.com/neighborbot/neighborbot

go 1.26.8
