"""Package discovery: every folder under service/ (data folders count as namespace
packages, so setuptools ships them without warnings), plus the top-level web/ folder,
which a built wheel carries as service/web (templates and static files of the page)."""

from setuptools import find_namespace_packages, setup

WEB = ["service.web", "service.web.static", "service.web.templates"]
PACKAGES = find_namespace_packages(include=["service", "service.*"], exclude=["*.__pycache__"])

setup(packages=PACKAGES + WEB, package_dir={"service.web": "web"})
