__version__ = "0.4.0"

import warnings
# fastai calls torch.jit.script when it is imported, which recent torch deprecates; the warning is fastai's
# to fix and tells a colorgan user nothing, so it is filtered here, once, by its exact message.
warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
