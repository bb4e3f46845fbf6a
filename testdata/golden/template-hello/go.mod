module example.com/acme/templates

go 1.26.0
