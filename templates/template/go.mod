module example.com/templates

go 1.26.0
