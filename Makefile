# Thin doors to mage: the build logic lives in magefiles/.
.PHONY: test ci install golden bench

test:
	go tool mage test

ci:
	go tool mage ci

install:
	go tool mage install

golden:
	go tool mage golden

bench:
	go tool mage bench
