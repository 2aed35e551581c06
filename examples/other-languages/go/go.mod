module local

go 1.21
