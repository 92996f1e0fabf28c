import os
import sys

import torch

# Test helpers (``helpers``, ``fixtures``) are imported as top-level modules.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
torch.set_num_threads(min(2, os.cpu_count() or 1))
