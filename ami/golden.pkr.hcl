# The cloudblog golden AMI: every web and worker instance boots from it, and user-data
# only supplies configuration (userdata/). Build with `make ami`; check offline with
# `make ami-check`. Nothing secret is ever baked in: configuration and secrets are read
# at boot from SSM Parameter Store and Secrets Manager by cloudblog-bootstrap.service.

variable "region" {
  type        = string
  description = "AWS region to build the image in"
  default     = "eu-west-1"
}

variable "subnet_id" {
  type        = string
  description = "subnet of the build instance (a private subnet with a NAT route)"
}

variable "app_version" {
  type        = string
  description = "the release baked into the image (pyproject.toml's version)"
}

variable "git_sha" {
  type        = string
  description = "the commit the wheel was built from"
}

variable "base_os" {
  type        = string
  description = "ubuntu-24.04 or al2023"
  default     = "ubuntu-24.04"
  validation {
    condition     = contains(["ubuntu-24.04", "al2023"], var.base_os)
    error_message = "The base_os must be ubuntu-24.04 or al2023."
  }
}

variable "instance_type" {
  type    = string
  default = "t3.small"
}

variable "root_volume_gb" {
  type    = number
  default = 16
}

variable "kms_key_id" {
  type        = string
  description = "KMS key for the AMI's snapshots (empty: the account's default EBS key)"
  default     = ""
}

variable "wheel_dir" {
  type        = string
  description = "folder holding the cloudblog wheel (make ami builds it into dist/)"
  default     = "dist"
}

variable "cloudwatch_agent_url" {
  type        = string
  description = "the CloudWatch agent package for Ubuntu (Amazon Linux installs it with dnf)"
  default     = "https://amazoncloudwatch-agent.s3.amazonaws.com/ubuntu/amd64/latest/amazon-cloudwatch-agent.deb"
}

# A private package index may need credentials: passed to pip through the environment of
# one provisioner run, never written to a file.
variable "pip_index_url" {
  type      = string
  default   = ""
  sensitive = true
}

locals {
  build_time = formatdate("YYYY-MM-DD'T'hh:mm:ssZ", timestamp())
  stamp      = formatdate("YYYYMMDDhhmmss", timestamp())
  base_images = {
    "ubuntu-24.04" = {
      name        = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
      owner       = "099720109477"
      user        = "ubuntu"
      root_device = "/dev/sda1"
    }
    "al2023" = {
      name        = "al2023-ami-2023.*-x86_64"
      owner       = "137112412989"
      user        = "ec2-user"
      root_device = "/dev/xvda"
    }
  }
  base      = local.base_images[var.base_os]
  build_dir = "/tmp/cloudblog-build"
}

source "amazon-ebs" "golden" {
  region          = var.region
  subnet_id       = var.subnet_id
  instance_type   = var.instance_type
  ssh_username    = local.base.user
  ami_name        = "cloudblog-${var.app_version}-${local.stamp}"
  ami_description = "cloudblog ${var.app_version} (${var.git_sha}) on ${var.base_os}"

  source_ami_filter {
    filters = {
      name                = local.base.name
      root-device-type    = "ebs"
      virtualization-type = "hvm"
      architecture        = "x86_64"
    }
    owners      = [local.base.owner]
    most_recent = true
  }

  # IMDSv2 only, for the build instance and for every instance launched from the AMI.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  imds_support = "v2.0"

  launch_block_device_mappings {
    device_name           = local.base.root_device
    volume_type           = "gp3"
    volume_size           = var.root_volume_gb
    throughput            = 125
    iops                  = 3000
    encrypted             = true
    delete_on_termination = true
  }
  encrypt_boot = true
  kms_key_id   = var.kms_key_id

  tags = {
    Name       = "cloudblog-${var.app_version}"
    AppVersion = var.app_version
    GitSha     = var.git_sha
    BuildTime  = local.build_time
    SourceAMI  = "{{ .SourceAMI }}"
    Role       = "cloudblog-web-worker"
    BaseOS     = var.base_os
  }
  snapshot_tags = {
    AppVersion = var.app_version
    GitSha     = var.git_sha
  }
  run_tags = {
    Name = "packer-cloudblog-${var.app_version}"
  }
}

build {
  sources = ["source.amazon-ebs.golden"]

  provisioner "shell" {
    inline = ["mkdir -p ${local.build_dir}"]
  }

  provisioner "file" {
    source      = "${var.wheel_dir}/"
    destination = "${local.build_dir}/dist"
  }

  provisioner "file" {
    source      = "ami/files/"
    destination = "${local.build_dir}/files"
  }

  provisioner "shell" {
    execute_command = "sudo -E env {{ .Vars }} bash '{{ .Path }}'"
    environment_vars = [
      "BUILD_DIR=${local.build_dir}",
      "APP_VERSION=${var.app_version}",
      "GIT_SHA=${var.git_sha}",
      "CLOUDWATCH_AGENT_URL=${var.cloudwatch_agent_url}",
      "PIP_INDEX_URL=${var.pip_index_url}",
    ]
    scripts = [
      "ami/provision/10-packages.sh",
      "ami/provision/20-user.sh",
      "ami/provision/30-app.sh",
      "ami/provision/40-systemd.sh",
      "ami/provision/50-nginx.sh",
      "ami/provision/60-cloudwatch.sh",
    ]
  }

  # Always last: nothing may run after the image is scrubbed.
  provisioner "shell" {
    execute_command  = "sudo -E env {{ .Vars }} bash '{{ .Path }}'"
    environment_vars = ["BUILD_DIR=${local.build_dir}", "BUILD_USER=${local.base.user}"]
    scripts          = ["ami/provision/99-cleanup.sh"]
  }

  post-processor "manifest" {
    output     = "ami/manifest.json"
    strip_path = true
    custom_data = {
      app_version = var.app_version
      git_sha     = var.git_sha
      base_os     = var.base_os
    }
  }
}
