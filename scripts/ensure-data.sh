#!/usr/bin/env bash
# Make the default data set (Fashion-MNIST) available from Debian's package when possible.
# Never fatal: without apt or root, the prepare stage looks in Keras's cache or downloads.
set -u
dir=/usr/share/datasets/fashion-mnist
keras_cache="${KERAS_HOME:-$HOME/.keras}/datasets/fashion-mnist"
[[ -f $dir/train-images-idx3-ubyte.gz || -f $keras_cache/train-images-idx3-ubyte.gz ]] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "data: no apt-get here; the prepare stage will use Keras's cache or download Fashion-MNIST"
  exit 0
fi
sudo=""
if [[ $(id -u) != 0 ]]; then
  if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "data: not root; install it with 'sudo apt-get install dataset-fashion-mnist', or let Keras download it"
    exit 0
  fi
fi
echo "data: installing Debian package dataset-fashion-mnist ..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
  || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } \
  || echo "data: apt could not install dataset-fashion-mnist; the prepare stage will try Keras's cache or a download"
exit 0
