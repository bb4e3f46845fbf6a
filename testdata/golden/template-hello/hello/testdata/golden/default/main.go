// Command hello says "hello".
package main

import "fmt"

func main() {
	fmt.Println("hello from hello")
}
