module mimcheck

go 1.23

require github.com/leanovate/gopter v0.2.11
