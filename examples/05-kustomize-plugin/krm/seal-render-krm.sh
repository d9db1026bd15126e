#!/bin/sh
# kustomize's exec KRM function: a ResourceList on stdin, one on stdout.
exec seal render --krm
