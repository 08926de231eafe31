module gort/harness/guest/init

go 1.27
