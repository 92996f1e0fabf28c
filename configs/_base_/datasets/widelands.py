# Real-image benchmark built offline from the sprites of the game Widelands
# (tools/dataset_converters/widelands.py): a class is a game object (a
# tribe's worker, an animal, a ship), a sample one frame of one of its
# animations in a player colour, 48 px on white. CUB layout (Widelands
# reader): classes 1-65 train (2,586 images), 101-165 test (2,588).
_base_ = ['./real_48px.py']

dataset_type = 'Widelands'
data_root = 'data/widelands'
num_train_classes = 65

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
