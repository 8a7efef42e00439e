//! The front-end exchange node agent (前置交换节点).
