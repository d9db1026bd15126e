# What the shop tenant may read: its own subtree, nothing else.
path "secret/data/shop/*" {
  capabilities = ["read"]
}
