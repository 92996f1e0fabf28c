# configs/gcahng/r18_pa_icons.py with the literal combination of GCA-HNG and
# Proxy Anchor: the graph head, CACAI, h1 and L_syn (dot products with an L2
# penalty) on the un-normalised embedding. The "before" row of the README's
# real-data table.
_base_ = ['../gcahng/r18_pa_icons.py']

model = dict(hng_geometry='euclidean', loss_syn=dict(cosine_scale=None))
