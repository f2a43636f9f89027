# seatcast: forecast election seats from tweets.
# `make` lists the targets. Every target runs inside the project's .venv.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SEATCAST := $(BIN)/seatcast
JOBS ?= 2

.DEFAULT_GOAL := help

#################################################################################
# Set-up                                                                        #
#################################################################################

## Create .venv and install seatcast with its development tools
.PHONY: install
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --user --name python3 >/dev/null
	touch $@

#################################################################################
# Main job                                                                      #
#################################################################################

## Train the binary sentiment model (15-fold CV) -> models/train.*, reports/train/
.PHONY: train
train: install
	$(SEATCAST) train --config configs/train.yaml --jobs $(JOBS)

## Train the 3-class model -> models/train-3class.*, reports/train-3class/
.PHONY: train-3class
train-3class: install
	$(SEATCAST) train --config configs/train-3class.yaml --jobs $(JOBS)

## Forecast the 2019 Lok Sabha seats from the shipped tweets -> reports/india2019/
.PHONY: predict
predict: install
	$(SEATCAST) predict --config configs/elections/india2019.yaml --jobs $(JOBS)

## Install, train and predict: the whole main job on the shipped data
.PHONY: demo
demo: install train predict

#################################################################################
# Checks                                                                        #
#################################################################################

## Run the test suite (unit, pools, notebooks, moto server)
.PHONY: test
test: install
	$(BIN)/python -m pytest

## Lint the code with ruff
.PHONY: lint
lint: install
	$(BIN)/ruff check src tests benchmarks

## Build the Docker image on a stand-in base and check it (needs root and apt)
.PHONY: docker-test
docker-test: install
	bash .ci/docker-test.sh

#################################################################################
# Self-documenting help                                                         #
#################################################################################

## List the targets with their descriptions
.PHONY: help
help:
	@awk '/^## /{desc=substr($$0, 4); next} /^[a-zA-Z0-9_-]+:/{if (desc) {split($$0, t, ":"); printf "  %-14s %s\n", t[1], desc}; desc=""}' $(MAKEFILE_LIST)
