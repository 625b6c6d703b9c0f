"""User-data for instances booted from the golden AMI: the `#cloud-config` template
(rendered by `python -m ops userdata render`) and the boot-time bootstrap
(`python -m userdata.bootstrap`, run by cloudblog-bootstrap.service).
"""
