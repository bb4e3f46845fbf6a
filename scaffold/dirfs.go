package scaffold

import (
	"io/fs"
	"os"
)

// DirFS is the template (or repository) directory dir as an fs.FS that
// cannot leave it: every read goes through an os.Root of dir, so a link
// inside that points outside (a key, /proc/self/environ) fails to open
// instead of handing the host's bytes to a render, a finding or an error
// message. Links are still seen as links (Lstat, ReadLink), to be kept or
// refused by the path policy. Use it, never os.DirFS, for any directory
// whose content is untrusted.
func DirFS(dir string) (fs.FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	// The root stays open as long as the FS is in use: the template it
	// holds is read until the command ends.
	return root.FS(), nil
}
