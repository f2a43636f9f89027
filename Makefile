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
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
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

# A model file is built from its config when it is missing.
models/%.skops: | install
	$(SEATCAST) train --config configs/$*.yaml --jobs $(JOBS)

## Forecast the 2019 Lok Sabha seats from the shipped tweets -> reports/india2019/
.PHONY: predict
predict: install models/train.skops
	$(SEATCAST) predict --config configs/elections/india2019.yaml --jobs $(JOBS)

## Install, train and predict: the whole main job on the shipped data
.PHONY: demo
demo: install train predict

## Run every score and seat rule against the 2019 result -> reports/india2019/backtest*
.PHONY: backtest
backtest: install models/train.skops
	$(SEATCAST) backtest --config configs/elections/india2019.yaml --jobs $(JOBS)

## Measure how classifier errors move PSS on crowd-labelled debate tweets -> reports/gop2015/
.PHONY: labelnoise
labelnoise: install models/train.skops
	$(SEATCAST) labelnoise --config configs/elections/gop2015.yaml --jobs $(JOBS)

## Compare our models with VADER and TextBlob, and run the emoticon leak check -> reports/evaluation/
.PHONY: evaluate
evaluate: install models/train.skops models/train-3class.skops
	$(SEATCAST) evaluate --compare --model models/train.skops --model models/train-3class.skops \
		--data data/tweeteval/sentiment_val.csv
	$(SEATCAST) evaluate --leak-check --config configs/train-twitter-samples.yaml

## Choose C, class weights and n-gram ranges on the training data; rewrites configs/train.yaml
.PHONY: tune
tune: install
	$(SEATCAST) tune --config configs/train.yaml --jobs $(JOBS)

## Run every notebook headless on small samples
.PHONY: notebooks
notebooks: install
	$(BIN)/python -m pytest tests/test_notebooks.py

## Measure throughput and memory on 1,000,000 resampled tweets -> docs/benchmarks.md
.PHONY: bench
bench: install
	$(BIN)/python benchmarks/bench.py

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
