from albench.cli import main

main()
