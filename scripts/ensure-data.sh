#!/usr/bin/env bash
# Make the default data set (Fashion-MNIST) available from Debian's package when possible.
# Never fatal: without apt or root, the prepare stage looks in Keras's cache or downloads.
set -u
dir=/usr/share/datasets/fashion-mnist
keras_cache="${KERAS_HOME:-$HOME/.keras}/datasets/fashion-mnist"
[[ -f $dir/train-images-idx3-ubyte.gz || -f $keras_cache/train-images-idx3-ubyte.gz ]] && exit 0
exec "$(dirname "$0")/apt-ensure.sh" dataset-fashion-mnist data \
  "the prepare stage will use Keras's cache or download Fashion-MNIST"
