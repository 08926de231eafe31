module gort

go 1.27
