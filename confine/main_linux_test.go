package confine_test

import (
	"os"
	"testing"

	"github.com/sandbar-dev/sandbar/confine"
	"github.com/sandbar-dev/sandbar/confine/confinetest"
)

func TestMain(m *testing.M) {
	confine.MaybeInit()
	confinetest.MaybeProbe()
	confinetest.MaybeRunner()
	os.Exit(m.Run())
}
