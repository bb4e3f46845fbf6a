module example.com/acme/hello

go 1.26.0
