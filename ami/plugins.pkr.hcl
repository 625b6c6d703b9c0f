# Packer 1.7+ needs the Amazon plugin declared and installed (`packer init ami/`, what
# `make ami` runs). Kept apart from golden.pkr.hcl because Debian's Packer 1.6.6, which
# `make ami-check` uses offline, predates plugins and refuses this block.
packer {
  required_plugins {
    amazon = {
      version = ">= 1.3.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}
